//! The spec's own examples, copied from `ktv-merchant-link.txt`.
//!
//! The spec's JSON is sometimes not JSON. posgate accepts strict JSON only (real gateways use
//! JSON libraries; the typos are the document's), so the few typos are fixed here, each noted
//! on its constant. Nothing else is changed.

/// The HTTP upload envelope example (its `data` is base64 gzip of legacy camelCase bills, not AES).
pub const UPLOAD_ENVELOPE: &str = r#"{
    "companycode" : "01103",
    "date" : "2018-01-08",
    "total" : 128,
    "data" : "H4sIAAAAAAAA/91VTYvTQBi+768oPbcyk6Td2GvXg8h6WIugSw9jMtsGk0xIJoUiBS9lEezKqgXxIi56Eym4IMr+nE11/4UzaT4mH7PW22IpJX2f9+PJ+z4z7+FOg32exb+NRtMgjofcaZ+YuNlrNAGEQG22UnSC/cAiLkfgLZDbg2lAscPNA+KOHoXtCYNVVck9TETjhAqAehvANtBzzBhj4ykJ6UMSskefu92DHdBRdB0KRSY5fLCBAQBa1WEw9XgpWLbfdY8ID45ezqOTs2ixzCOJh92B5ZQYNqDSA4B9Bao2CXCdp1b2RIZBQpc+oMinktRaT4GVgDuuWeeu9jpqXX6Jr1JknTS4P0b+KHZXb+uiwxEy5KBPiJP0LpVJajXFPifG+2jD6ACA/O0SjI+mNogDaWC0esVG1EwcZhmPUYgDWiVihAElDhvvXsxdLOkmGXd1XRft3pi4McBkpAOt0+2CQtzIR2aVZ2xNSf56+z36/C1afKzyNNJGHmaxOV2B1UaHv89/CKXFcIXJGxQgmig7s81afynx9Wy9+PCv+bWt81/NX69X5+JRKpbgQqqroBSMJqbIsoNCx8olC+/fqgMy+Sw/MVrNig+TCLWQHctEUWVwNt/j5eXPL7JcbujU8gg8bPDo9Ys31SDPt4y6pmzKM0VOZWCAbDwoz4Z/ZsK/4faqmC8qI0ta262fI+RSyfMnT8NM8h6aOtilgVz0iUd8AeyVeyei2QBOVlfHp0WSE2SHHFQrunKw8wT7feTzQ1vDdEfoy03bdbUbbr//GO4CDaq881C249SyPd1xlxfvo9N30XwePb8obLpr14aq9KB23dqIdSBbGyXwf7uuxZZKrjsou1E7RX/kUctAdm2E5+OAHQUu46I99FmdAEuB/eQGuUHntPp2251T9jv8Aw8wte+YCgAA"
}"#;

/// The upload success reply.
pub const UPLOAD_REPLY: &str = r#"{
	"ret" : 0,
	"msg" : "数据接收并校验成功"
}"#;

/// openTime version 1. Fixed: the unterminated `"03:00:00,` string and its trailing comma.
pub const OPEN_TIME_V1: &str = r#"{	
	"companycode" : "01103",
	"version" : "1.0",
	"data": {
		"system": "TongYu-v1.201803152201",
		"open_time" : "12:00:00",
		"close_time" : "03:00:00"
			
	}
}"#;

/// openTime version 2. Fixed: the unterminated `"03:00:00,` string and its trailing comma.
pub const OPEN_TIME_V2: &str = r#"{	
	"companycode" : "01103",
	"version" : "2.0",
	"data": {
		"system": "TongYu-v1.201803152201",
        "version_num" : 1234,
		"open_time" : "12:00:00",
		"close_time" : "03:00:00"			
	}
}"#;

/// openTime version 3. Fixed: the unterminated `"03:00:00,` string (comma kept: `gateway` follows).
pub const OPEN_TIME_V3: &str = r#"{	
	"companycode" : "01103",
	"version" : "3.0",
	"data": {
		"system": "TongYu-v1.201803152201",
    "version_num" : 1234,
		"open_time" : "12:00:00",
		"close_time" : "03:00:00",
		"gateway" : 0
	}
}"#;

/// The realtime "original JSON body". Fixed: the full-width comma after `activity_id`, the trailing comma after `present_money`, and no-break spaces (U+00A0) used as indentation.
pub const REALTIME_BODY: &str = r#"{
	"companycode" : "01103",
	"version" : "1.0",
	"date": "2018-01-03 21:02:12",
	"data" : {
		"revenue" : 18203300,
		"guest" : 31,
		"voucher" : 22,
		"uncheckout_wine" : 230000,
		"xiao_zhang" : 2100000,
		"gua_zhang" : 3400000,
		"room_states": [
		{
        "room_id": 1,
        "room_ip" : "192.168.97.189",
		"room_mac":"12873197417310asdada",
        "room_name": "K01",
        "room_type_id": 3,
        "room_type_name": "中包",
        "area_id": 1,
        "area_name": "K区",
        "room_theme_id": "-1",
        "room_theme_name": "",
        "room_state_id": 2,
        "room_state_name": "结账",
        "room_avaiable" : 0,
        "room_in_open" : 1,
        "room_end_time" : "12:00:00",
        "destine_datetime" : "",
        "second_room_states": [
          {
            "name": "生日",
            "value": "1"
          },
          {
            "name": "包厢呼叫",
            "value": "1"
          },
          {
            "name": "打印锁定",
            "value": 0
          }
        ],
        "open_checkout_id" : 123,
        "open_checkout_voucher": "R15052800040",
        "checkout_wine_money": 9900,
        "uncheckout_wine_money": 2100,
        "open_datetime": "2018-01-08 12:22:21",
        "close_datetime": "",
        "checkout_datetime": "2018-01-08 12:11:21",
        "account_start_datetime": "2018-01-08 12:00:00",
        "account_end_datetime": "2018-01-08 14:00:00",
        "guest_number": 4,
        "children_number": 0,
        "customer_id": "12331",
        "member_id" : "123193719374714141",
        "guest_name": "张学友",
        "guest_type": 1,
        "grade_id": 1,
        "grade_name": "男女卡",
        "guest_phone": "",
        "wine_type":1,
        "allow_later_check":1,
        "operator" : "张王李",
		"sec_operator": "赵钱孙",
        "sales_manager" : "赵钱孙",
        "booking_voucher_number": "",
        "operator_id" : "0050",
        "sales_manager_id" : "0052",
        "account_type" : 1,
        "least_money" : 0,
        "box_fee" : 0,
        "activity_name": "假日活动",
        "activity_id" : 123,
		"low_charge_gap": 0,
		"pr_number": 0,
		"remark" : "包厢备注",
		"present_money" : 300000
      }
		]
	}
}"#;

/// The vouchers "original JSON body" (a WJ091-shaped wrapper around the bills).
pub const VOUCHERS_BODY: &str = r#"{
  "ret": 0,
  "msg": "执行<BL_HV_WX_GetCheckOutPageData>成功",
  "data": [
    {
      "checkout_voucher": "K21121700003",
	  "open_checkout_id" : 123123,
      "voucher": "S22100900001",
      "voucher_type": 2,
      "voucher_info": "超市单",
      "open_datetime": "2022-10-09 14:50:28",
      "close_datetime": "2022-10-09 14:50:29",
      "checkout_datetime": "2022-10-09 14:50:29",
      "business_date": "2022-10-09 00:00:00",
      "account_start_datetime": "",
      "account_end_datetime": "",
      "revoke": 0,
      "modify": 0,
      "checkout_charge": 1,
      "fact_charge": 1,
      "room_id": 21,
      "guest_id": 389,
      "checkoutid": 4783,
      "saleman_staff_code": "",
      "reserve_staff_code": "",
      "sec_reserve_staff_code" : "",
      "box_waiter_staff_code": "1140",
      "version": 1,
      "room_info": {
        "room_id": 21,
        "room_name": "N10S0824",
        "room_type_id": 1,
        "room_type_name": "大包"
      },
      "guest_info": {
        "customer_id": "00120221009101048040389",
        "name": "王励勤",
        "phone": "18065027819",
        "grade_id": 3,
        "grade_name": "铜卡"
      },
      "charges": [
        {
          "name": "调整金额",
          "charge": 0,
          "type": 4
        },
        {
          "name": "免单金额",
          "charge": 0,
          "type": 6
        },
        {
          "name": "折扣金额",
          "charge": 0,
          "type": 6
        },
        {
          "name": "盈亏金额",
          "charge": 0,
          "type": 4
        },
        {
          "name": "折后低消差额",
          "charge": 0,
          "type": 1
        },
        {
          "name": "商品金额",
          "charge": 1,
          "type": 2,
          "details": [
            {
              "wine_list_id": 4332,
			  "wine_list_order_time" : "2023-02-15 14:24:12",
              "type": 15,
              "type_name": "测试cf",
              "material_id": 40,
              "material_name": "可选套餐-方案正常",
              "num": 1,
              "spec": "支",
              "price": 1,
              "money": 1,
              "ad_money": 0,
              "sale_type": 0,
              "present_status": 1,
              "presentman": "",
              "present_staffcode": ""
            },
            {
              "wine_list_id": 4332,
			  "wine_list_order_time" : "2023-02-15 14:24:12",
              "type": 15,
              "type_name": "测试cf",
              "material_id": 42,
              "material_name": "子物品1",
              "num": 1,
              "spec": "支",
              "price": 0,
              "money": 0,
              "ad_money": 0,
              "sale_type": 0,
              "present_status": 2,
              "presentman": "",
              "present_staffcode": ""
            },
            {
              "wine_list_id": 4332,
			  "wine_list_order_time" : "2023-02-15 14:24:12",
              "type": 15,
              "type_name": "测试cf",
              "material_id": 43,
              "material_name": "子物品2",
              "num": 1,
              "spec": "支",
              "price": 0,
              "money": 0,
              "ad_money": 0,
              "sale_type": 0,
              "present_status": 2,
              "presentman": "",
              "present_staffcode": ""
            }
          ]
        }
      ],
      "payments": [
        {
          "payment_type_id": 2,
          "payment_type_name": "会员卡",
          "value": 0,
          "by_member_card": 1,
          "rate": 1,
          "translatemoney": 0,
          "coupon_id": "",
          "member_cash": 0,
          "member_present": 0
        },
        {
          "payment_type_id": 7,
          "payment_type_name": "K米支付",
          "value": 1,
          "by_member_card": 0,
          "rate": 1,
          "translatemoney": 1,
          "coupon_id": "",
          "member_cash": 0,
          "member_present": 0
        }
      ]
    }
  ],
  "cmdid": "WJ091",
  "total": "1"
}"#;

/// The notify body before encryption.
pub const NOTIFY_BODY: &str = r#"{
  "companycode": "01103",
  "version": 1,
  "data": [
    {           
      "guest_name": "老刘忙",
      "guest_phone": "136607210053",
      "remark": "黑名单用户，不予接待",
      "reserve_time": "2019-04-01 12:00:00",
      "cancel_time": "2019-03-27 23:00:00",
      "room_id": "00012",
      "room_name": "小红房",
      "staff_code": "T11102",
      "staff_name": "陈鸿",
      "voucher": "080421550729785262936"
    }
  ]
}"#;

/// The notify reply.
pub const NOTIFY_REPLY: &str = r#"{
  "ret": 0,
  "msg": "OK"
}"#;

/// The payment_setting body before encryption (legacy `status`/`network_payment` names).
pub const PAYMENT_SETTING_BODY: &str = r#"{
  "companycode": "01103",
  "version": 1,
  "data": [
    {
      "payment_type_id": 1,
      "payment_type_name": "人民币",
      "payment_alias_name": "人民币",
      "status": 1,
      "network_payment": 0
    },
    {
      "payment_type_id": 2,
      "payment_type_name": "微信",
      "payment_alias_name": "微信支付",
      "status": 1,
      "network_payment": 2
    },
    {
      "payment_type_id": 3,
      "payment_type_name": "支付宝",
      "payment_alias_name": "支付宝支付",
      "status": 1,
      "network_payment": 1
    },
    {
      "payment_type_id": 4,
      "payment_type_name": "会员卡",
      "payment_alias_name": "会员卡",
      "status": 1,
      "network_payment": 0
    },
    {
      "payment_type_id": 5,
      "payment_type_name": "优惠券",
      "payment_alias_name": "K米优惠券",
      "status": 0,
      "network_payment": 0
    }
  ]
}"#;

/// WJ091 request, type 2.
pub const WJ091_REQUEST_TYPE2: &str = r#"{
	"cmdid" : "WJ091",
	"companycode": "01103",
	"type" : 2,
	"date" : "2018-01-17",
	"voucher" : "R15052800040",
	"zip" : 1,
	"page_size" : 100,
	"page_num" : 0
}"#;

/// WJ091 reply with zipped data (legacy camelCase realtime data inside).
pub const WJ091_REPLY_ZIPPED: &str = r#"{
		"ret" : 0,
		"msg" : "",
		"data" : "H4sIAAAAAAAA/+3aTWvUQBgH8Hs/Rch5F+aZZNvdnisiYpFa9CA9xOzQXdxNSjYplNKDBw9ia5EuCF58gfYiFUFB0X4cp+q3cDKbTbLJjheP+cMSduflmexk8jv9D1csy47EvggSYa9bxLjLWCtt3E3EJFZNjv6VBP5A+I8fDANxJwzEgergjGVDozAc34u9WExU80PVYlmH+pr13dpIS7fKTZveOF3Pvs3IXujYPtgTerxTa57P+fntUh4/LaZ5kfAqS6RN+RLy+HtljYEYzxax29Xl0675zMUu/Q/T/11vnU/49ePs95eLYtpE+Fv1vSnvjx4WzKdP31y/Os+n6759b5TMbiZvPWr9u4zaHPnivXx5JU8//Hex62dn8uTTn+kT+fH18mKsqJV928k3QB+aMInvh4n6GqUFt6jDOryrzo7L7NrA8gHr9WbnSw/IDmBlCKfSkHBPBBtqp7eHs1vnjLptRm3WtYivc/UpPWx/FE5EeXT9XpbXIVqo4/l+mASxesSRYQJj6lObcCPoLxvuVofr13AzGT/Su+eWbnI46t9c6Cx2wk8mcTgW0eyME3ccqlacn5Wrt/LyQp4+r/Sn79vCG7UbeX1Rect0W372p1/l+Wd58q5S6e5APavizGXnre4DN/jA4QN8gA+N98Ex+ODAB/gAHxrvg2vwwYUP8AE+NN6HjsGHDnyAD/Ch8T6sGnxYhQ/wAT403oc1gw9r8AE+wIfG+9A1+NCFD/ABPjTeh57Bhx58gA/wofE+EFsOBDEAASAABIAwJCgJCUoAASAABBkilIQIJYAAEACCDBlKQoYSQAAIAEGGECUhRAkgAASAIEOKkpCiBBAAAkCQIUZJiFECCAABIMiQoyTkKAEEgAAQZAhSEoKUAAJAAAgyJCkJSUoAASAABDckKTmSlAACQAAIbkhS8uobCiAABIBoIBCGJCVHkhJAAIjmAKGuOytHfwE8krjLJVsAAA==",
	"total" : 100
	}"#;

/// WJ091 request, type 6.
pub const WJ091_REQUEST_TYPE6: &str = r#"{
  "cmdid": "WJ091",
  "companycode": "01103",
  "zip" : 0,
  "type": 6
}"#;

/// WJ091 reply, type 6.
pub const WJ091_REPLY_TYPE6: &str = r#"{
  "ret": 0,
  "msg": "OK",
  "data": [
 		{
      "payment_type_id": 1,
      "payment_type_name": "人民币",
      "payment_alias_name": "人民币"
    },
    {
      "payment_type_id": 2,
      "payment_type_name": "微信",
      "payment_alias_name": "微信支付"
    },
    {
      "payment_type_id": 3,
      "payment_type_name": "支付宝",
      "payment_alias_name" :"支付宝支付"
    },
    {
      "payment_type_id": 4,
      "payment_type_name": "会员卡",
      "payment_alias_name" : "会员卡"
    },
    {
      "payment_type_id": 5,
      "payment_type_name": "优惠券",
      "payment_alias_name" : "K米优惠券"
    }
  ]
}"#;

/// WJ091 request, type 8.
pub const WJ091_REQUEST_TYPE8: &str = r#"{
	"cmdid" : "WJ091",
	"companycode": "01103",
	"type" : 8,
	"date" : "2020-10-01",
	"zip" : 0,
	"page_size" : 100,
	"page_num" : 0
}"#;

/// WJ091 reply, type 8.
pub const WJ091_REPLY_TYPE8: &str = r#"{
  "cmdid": "WJ091",
  "data": [
    {
      "account_balance": 70381,
      "business_type": 1,
      "card_account_change_id": 3650,
      "cash_change_money": 11,
      "change_integral": 9,
      "changed_datetime": "2020-09-09 19:16:07",
      "voucher": "S20090900008-1",
      "consume_type": "超市消费",
      "fact_accept_charge": 22,
      "integral_balance": 1335069,
      "km_id": "000006168",
      "member_id": "970000068",
      "note": "ZB0004消费花生米",
      "only_business_id": 8070,
      "present_change_money": 11,
      "quit_only_business_id": 8062,
      "grade_id" :  1,
      "sales_manager": "惠子",
      "sales_manager_code": "10071"
    }
  ],
  "msg": "OK",
  "ret": 0,
  "total": 1
}"#;

/// WJ091 request, type 4.
pub const WJ091_REQUEST_TYPE4: &str = r#"{
	"cmdid" : "WJ091",
	"companycode": "01103",
	"type" : 4,
	"roomid":23,
	"zip" : 1
}"#;

/// WJ091 reply, type 4.
pub const WJ091_REPLY_TYPE4: &str = r#"{
  "ret": 0,
  "msg": "",
  "data": {
    "room_info": [
      {
        "showtitle": "开房时间",
        "showvalue": "02:08"
      },
      {
        "showtitle": "消费时长",
        "showvalue": "18061分钟"
      },
      {
        "showtitle": "应付金额",
        "showvalue": "1297867"
      },
      {
        "showtitle": "钟点费",
        "showvalue": "1296867"
      },
      {
        "showtitle": "服务费",
        "showvalue": "1000"
      }
    ],
    "wine_info": [
      {
        "unit": "袋",
        "matername": "洽洽焦糖瓜子108g",
        "presentman" : "",
        "sellprice": 15,
        "sellmoney": 1500,
        "mattersno": 123701,
        "matterid": 188,
        "ordertime": "14:41",
        "sellnum": 1,
        "orderman": "秦小艳-超市",
        "ordertype": 0,
        "wineid": 123701,
        "paid" : 1
      }
    ],
	    "pr_info":
    [
        {
            "staff_id": 12,
            "staff_code": "123",
            "staff_name": "小蓝",
            "leader_name": "阿飞",
            "up_time": "20:00",
            "down_time": "22:00"
        }
    ]
  }
}"#;

/// WJ091 request, type 5.
pub const WJ091_REQUEST_TYPE5: &str = r#"{
	"cmdid" : "WJ091",
	"companycode": "01103",
	"type" : 5,
	"date" : "2018-05-17",
	"zip" : 0,
    "page_size" : 100,
    "page_num" : 0
}"#;

/// WJ091 reply, type 5 (the spec repeats the key `businessitype`: last wins).
pub const WJ091_REPLY_TYPE5: &str = r#"{
    "ret" : 0,
    "msg" : "OK",
    "data" : [

        {
            "gradeid":2,
            "cardnum":"1425",
            "memberid":"125422",
            "onlybusinessid":110,
            "quitonlybusinessid":0,
            "operationtype":0,
            "acceptmoney":0,
            "businessitype":0,
            "acceptmoneydate":"2018-05-17 11:00:00",
            "businessitype":0,
            "payments":[
                {
                    "paymenttypeid":1,
                    "paymenttypename":"现金",
                    "value":100,
                    "rate":"0.8",
                    "translatemoney":80
                }
            ]
        }
    ]
}"#;

/// WJ091 request, type 9.
pub const WJ091_REQUEST_TYPE9: &str = r#"{
  "cmdid": "WJ091",
  "type" : 9,
  "companycode": "01577",
  "room_id" : "0006",
  "begin_date": "2020-12-07 00:00:00",
  "end_date": "2020-12-08 00:00:00",  
  "zip": 0
}"#;

/// WJ091 reply, type 9. Fixed: typographic quotes around `room_type_id`.
pub const WJ091_REPLY_TYPE9: &str = r#"{
  "data": [
    {
      "guest_name": "老刘忙",
      "guest_phone": "136607210053",
      "member_id": "123193719374714141",      
      "remark": "备注",
      "reserve_time": "2020-12-07 22:50:00",
      "room_id": "00012",
      "room_name": "小红房",
      "room_type_id": "1",
      "room_type_name": "小包",
      "voucher": "YDD0000102",
      "operator" :"赵钱孙",
      "operator_staff_code": "X123131",
      "sales_manager" : "陈鸿",
      "sales_manager_staff_code": "X10110"
    }
  ],
  "msg": "OK",
  "ret": 0
}"#;

/// The `data` of [`UPLOAD_ENVELOPE`].
pub const UPLOAD_ENVELOPE_DATA: &str = "H4sIAAAAAAAA/91VTYvTQBi+768oPbcyk6Td2GvXg8h6WIugSw9jMtsGk0xIJoUiBS9lEezKqgXxIi56Eym4IMr+nE11/4UzaT4mH7PW22IpJX2f9+PJ+z4z7+FOg32exb+NRtMgjofcaZ+YuNlrNAGEQG22UnSC/cAiLkfgLZDbg2lAscPNA+KOHoXtCYNVVck9TETjhAqAehvANtBzzBhj4ykJ6UMSskefu92DHdBRdB0KRSY5fLCBAQBa1WEw9XgpWLbfdY8ID45ezqOTs2ixzCOJh92B5ZQYNqDSA4B9Bao2CXCdp1b2RIZBQpc+oMinktRaT4GVgDuuWeeu9jpqXX6Jr1JknTS4P0b+KHZXb+uiwxEy5KBPiJP0LpVJajXFPifG+2jD6ACA/O0SjI+mNogDaWC0esVG1EwcZhmPUYgDWiVihAElDhvvXsxdLOkmGXd1XRft3pi4McBkpAOt0+2CQtzIR2aVZ2xNSf56+z36/C1afKzyNNJGHmaxOV2B1UaHv89/CKXFcIXJGxQgmig7s81afynx9Wy9+PCv+bWt81/NX69X5+JRKpbgQqqroBSMJqbIsoNCx8olC+/fqgMy+Sw/MVrNig+TCLWQHctEUWVwNt/j5eXPL7JcbujU8gg8bPDo9Ys31SDPt4y6pmzKM0VOZWCAbDwoz4Z/ZsK/4faqmC8qI0ta262fI+RSyfMnT8NM8h6aOtilgVz0iUd8AeyVeyei2QBOVlfHp0WSE2SHHFQrunKw8wT7feTzQ1vDdEfoy03bdbUbbr//GO4CDaq881C249SyPd1xlxfvo9N30XwePb8obLpr14aq9KB23dqIdSBbGyXwf7uuxZZKrjsou1E7RX/kUctAdm2E5+OAHQUu46I99FmdAEuB/eQGuUHntPp2251T9jv8Aw8wte+YCgAA";
